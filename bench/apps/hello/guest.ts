import { fire } from '../../../shared/http/fire.ts';
import { app } from './app.ts';

fire(app);
