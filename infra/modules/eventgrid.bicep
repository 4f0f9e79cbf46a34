// The storage account's Event Grid system topic. Its subscription to the Function App's blobs
// webhook is made by the postdeploy hook (hooks/postdeploy.py): the webhook's key exists only
// once the code is deployed.
param name string
param location string
param tags object
param storageName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
