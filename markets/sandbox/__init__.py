"""The sandbox marketplace: our own HTTP service speaking the five markets' wire formats
over a generated catalog whose prices move from day to day."""
