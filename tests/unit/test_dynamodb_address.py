"""A DynamoDB URL's parts, and its read timeout (for slow local emulators)."""

import pytest

from cloudmall.adapters.dynamodb.client import READ_TIMEOUT_SECONDS, TableAddress


def test_the_url_names_the_table_region_endpoint_and_default_timeout() -> None:
    address = TableAddress.parse("dynamodb://shop?region=ap-northeast-2&endpoint_url=http://x:1")
    assert address == TableAddress("shop", "ap-northeast-2", "http://x:1", READ_TIMEOUT_SECONDS)


def test_a_read_timeout_may_be_given_in_seconds() -> None:
    assert TableAddress.parse("dynamodb://shop?read_timeout=120").read_timeout == 120


@pytest.mark.parametrize("value", ["0", "901", "ten", "-5"])
def test_a_read_timeout_out_of_range_is_refused_with_its_rule(value: str) -> None:
    with pytest.raises(ValueError, match="1 to 900 seconds"):
        TableAddress.parse(f"dynamodb://shop?read_timeout={value}")
