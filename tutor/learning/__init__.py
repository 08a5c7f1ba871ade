"""What the learner does and what is remembered of it: flows, the learner's store, spaced repetition, export."""
