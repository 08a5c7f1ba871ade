"""tutor: a multi-agent deep learning tutor that teaches from the course notes."""

__version__ = "0.1.0"
