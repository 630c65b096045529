// The "Email scripts" panel of one account (DESIGN.md, "Web panel"), over the daemon's API.
import './style.css';

import { renderPage } from './page';
import { renderSignIn, start } from './session';
import { setDrawer, view } from './state';

setDrawer(() => (view.api ? renderPage() : renderSignIn()));
void start();
