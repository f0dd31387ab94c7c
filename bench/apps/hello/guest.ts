import { fire, warmUp } from '../../../shared/http/fire.ts';
import { app } from './app.ts';

// Like every component: run the pure request paths once at initialisation so their bytecode is in the snapshot.
warmUp(() => {
  void app.fetch(new Request('http://warm.up/hello'));
  void app.fetch(
    new Request('http://warm.up/greet', {
      method: 'POST',
      body: '{"name":"warm","times":1}',
      headers: { 'content-type': 'application/json' },
    }),
  );
});

fire(app);
