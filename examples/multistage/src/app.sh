#!/bin/sh
echo "app $(cat /app/version)"
