"""Each chapter's claims, computed from the numbers the chapter measured."""
