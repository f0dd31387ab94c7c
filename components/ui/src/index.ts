/**
 * `ui`: the web dashboard. The browser app in `components/ui/app/` is bundled at build time (the `client-bundle:`
 * import, see scripts/build.ts) and embedded in this component as strings; it is served under `/ui/` and talks to the
 * platform's API from the browser with the user's API key. The component itself has no capabilities at all.
 *
 * @module
 */
import files from 'client-bundle:../app/main.tsx';
import { fire, warmUp } from '../../../shared/http/fire.ts';
import { spaHandler } from './static.ts';

const app = spaHandler(files, { mount: '/ui/' });

warmUp(() => {
  for (const path of ['/', '/ui/', '/ui/agents', `/ui/${files[0]!.path}`, '/ui/assets/none'])
    app.fetch(new Request(`http://warm.up${path}`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': '"x"' } }));
});

fire(app);
