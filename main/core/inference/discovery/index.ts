// On-disk model discovery: GGUF files from Agent Room, configured folders, Ollama, LM Studio and Jan.
export { discoverModels, isGgufFile } from './discover.ts';
export { defaultDiscoveryRoots, type DiscoveryRoots, type DefaultRootsInput } from './roots.ts';
