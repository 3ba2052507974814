#!/bin/sh
# Prints PGQ_VERSION from include/pgq.h, the one place the version is written.
cd "$(dirname "$0")/.." && sed -n 's/^#define PGQ_VERSION "\(.*\)"$/\1/p' include/pgq.h
