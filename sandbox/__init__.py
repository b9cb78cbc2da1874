"""A small Kubernetes cluster emulator for offline demos and tests (not shipped).

See sandbox/README.md: an API server, controllers, a kubelet whose pods are real
LiteLLM processes, service endpoints and fake LLM providers, in one process.
"""
