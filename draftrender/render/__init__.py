"""Frames and samples: the plan, frame sources, compositor, encoder, and the orchestrator."""
