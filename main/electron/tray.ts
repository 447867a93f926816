// The tray icon: the one place that builds an electron Menu. It renders tray-menu.ts's pure template,
// swaps the state image, and hands clicks to the caller as TrayActions.
import { join } from 'node:path';
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import {
  trayClickBehaviour,
  trayIconState,
  trayMenuTemplate,
  trayTooltip,
  type TrayAction,
  type TrayIconState,
  type TrayMenuItem,
  type TrayState,
} from './tray-menu.ts';

export interface TrayControllerOptions {
  /** resources/tray: holds <state>.png (and <state>Template.png on macOS). */
  trayDir: string;
  platform: NodeJS.Platform;
  onAction: (action: TrayAction) => void;
}

/** The image file for a state; macOS gets template images so the menu bar tints them. */
export function trayImagePath(trayDir: string, state: TrayIconState, platform: NodeJS.Platform): string {
  return join(trayDir, platform === 'darwin' ? `${state}Template.png` : `${state}.png`);
}

export function toMenuOptions(
  items: TrayMenuItem[],
  onAction: (action: TrayAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item) => {
    const options: MenuItemConstructorOptions = { id: item.id };
    if (item.label !== undefined) options.label = item.label;
    if (item.type !== undefined) options.type = item.type;
    if (item.enabled !== undefined) options.enabled = item.enabled;
    if (item.checked !== undefined) options.checked = item.checked;
    if (item.submenu) options.submenu = toMenuOptions(item.submenu, onAction);
    const action = item.action;
    if (action) options.click = () => onAction(action);
    return options;
  });
}

export class TrayController {
  readonly #tray: Tray;
  readonly #images = new Map<TrayIconState, NativeImage>();
  #iconState: TrayIconState | undefined;
  #menu: Menu | undefined;

  constructor(private readonly options: TrayControllerOptions) {
    this.#tray = new Tray(this.#image('starting'));
    this.#iconState = 'starting';
    this.#tray.setToolTip('Agent Room: starting');
    if (trayClickBehaviour(options.platform) === 'openChat') {
      this.#tray.on('click', () => options.onAction({ type: 'openChat' }));
    } else {
      // macOS: a click shows the menu (setContextMenu does that already); nothing more to wire.
    }
  }

  #image(state: TrayIconState): NativeImage {
    let image = this.#images.get(state);
    if (!image) {
      image = nativeImage.createFromPath(trayImagePath(this.options.trayDir, state, this.options.platform));
      if (this.options.platform === 'darwin') image.setTemplateImage(true);
      this.#images.set(state, image);
    }
    return image;
  }

  /** Re-renders icon, tooltip and menu from the state. Cheap enough to call on every status change. */
  update(state: TrayState): void {
    const icon = trayIconState(state.status);
    if (icon !== this.#iconState) {
      this.#tray.setImage(this.#image(icon));
      this.#iconState = icon;
    }
    this.#tray.setToolTip(trayTooltip(state.status, state.update?.state, state.downloads));
    this.#menu = Menu.buildFromTemplate(toMenuOptions(trayMenuTemplate(state), this.options.onAction));
    // Linux (AppIndicator) shows nothing without a context menu, so it is always set.
    this.#tray.setContextMenu(this.#menu);
  }

  get iconState(): TrayIconState | undefined {
    return this.#iconState;
  }

  destroy(): void {
    this.#tray.destroy();
  }
}
