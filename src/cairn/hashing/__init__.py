"""Cryptographic digests (one pass) and perceptual hashes (PDQ)."""
