#!/bin/sh
# Entrypoint of the layered test image: prints its arguments and the image's environment.
echo "$GREETING: $*"
