"""Research integrity: the published figures (read and validated), their audit and their reproduction."""
