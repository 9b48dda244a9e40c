"""The generative models: each module holds one model family and its config dataclass."""
