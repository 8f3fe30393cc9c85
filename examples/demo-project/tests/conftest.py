# "Importing the universe": the application and the heavy standard-library modules it needs.
import asyncio  # noqa: F401
import email.parser  # noqa: F401
import http.client  # noqa: F401
import json  # noqa: F401
import sqlite3
import unittest.mock  # noqa: F401
import xml.etree.ElementTree  # noqa: F401

import pytest

import inventory


@pytest.fixture(scope="session")
def database():
    connection = sqlite3.connect(":memory:")
    connection.execute("create table items (sku text primary key, cents integer)")
    yield connection
    connection.close()


@pytest.fixture
def catalog():
    return inventory.Catalog()
