"""Language models: the built-in offline model and the selection of any CrewAI/LiteLLM model."""
