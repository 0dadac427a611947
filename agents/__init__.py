"""The LLM side of ToolMaster Gym (install with the ``[agents]`` extra).

Submodules import torch and transformers; importing this package alone does not.
"""
