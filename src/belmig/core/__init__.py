"""The contracts every stage shares: paths, config, schemas, atomic writes, codebook, ledger, keys."""
