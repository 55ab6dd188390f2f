"""Sales statistics: one fact per sale in every channel, the yearly plan, queries and completion."""
