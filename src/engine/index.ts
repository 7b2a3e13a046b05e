export {
  eventOrigin,
  SignatureEngine,
  type SignatureEngineEvents,
  type SignatureEngineOptions,
  SignatureError,
} from './engine.js';
