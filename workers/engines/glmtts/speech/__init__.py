"""Speech front end: a reference clip's features (resampling, log-mel, fbank), CAM++ speaker
embedding, WhisperVQ speech tokens."""
