"""Camera forensics below the services: the sensor-noise (PRNU) residual of one image
(`residual`), a camera's fingerprint from many (`fingerprint`), the PCE test of an image against
a fingerprint over the transforms phones and apps apply (`pce`), compact storage of those
arrays (`compact`), the JPEG header signature of a file (`signature`) and the synthetic
cameras that tests and bench/prnu.py use (`synthetic`). See docs/camera.md.
"""
