"""What verdicts read: the signed trust and status lists, the in-memory registry index,
public search."""
