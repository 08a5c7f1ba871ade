"""CrewAI tools by name, through one registry that built-ins and plugins share."""
