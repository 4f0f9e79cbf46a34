from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from localdev.azurite import AzuritePorts


def test_azurite_serves_blobs_and_tables(azurite: AzuritePorts) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = blobs.create_container("fixture-check")
    container.upload_blob("a.txt", b"hello")
    assert container.download_blob("a.txt").readall() == b"hello"
    tables = TableServiceClient.from_connection_string(azurite.connection_string)
    table = tables.create_table("fixturecheck")
    table.create_entity({"PartitionKey": "p", "RowKey": "r", "value": 1})
    assert table.get_entity("p", "r")["value"] == 1
