"""Reading and writing X12 interchanges: tokenizer, 835 remittances, 835 writer."""
