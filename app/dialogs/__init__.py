"""One module per dialog (MNELAB's layout)."""
