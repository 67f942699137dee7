"""The speech-token language model (a transformers Llama) and its repetition-aware sampling."""
