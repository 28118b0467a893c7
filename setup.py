# The metadata lives in pyproject.toml; this file lets older tools run `setup.py`.
from setuptools import setup

setup()
