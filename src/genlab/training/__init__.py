"""The one training loop shared by every model, and what it needs: device, seeding, checkpoints."""
