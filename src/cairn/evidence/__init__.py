"""Evidence sources: things that yield entries (folders, archives, disk images, phone dumps)."""
