"""The course notes as a searchable knowledge base: chunking, embedder, store, hybrid retrieval."""
