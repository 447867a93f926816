// Model downloads into <data>/models: hf: URIs through node-llama-cpp, http(s) URLs resumable.
export { downloadModel, parseDownloadRef, type DownloadModelOptions, type ModelSourceKind } from './download.ts';
export { httpDownload, type HttpDownloadOptions } from './http-download.ts';
