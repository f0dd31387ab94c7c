/**
 * The dashboard's entry: mounts the app. Bundled by scripts/client-bundle.ts and embedded in the `ui` component.
 *
 * @module
 */
import { render } from 'preact';
import './styles.css';
import { App } from './views/app.tsx';

render(<App />, document.getElementById('app')!);
