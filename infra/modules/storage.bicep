// Storage for the app and the Functions host: the inbox and reports containers, the runs table,
// the host's poison queue, and the container the Flex Consumption deployment package goes to.
// Only Entra ID may reach it: shared keys and anonymous blob access are off.
param name string
param location string
param tags object
param inboxContainer string
param reportsContainer string
param runsTable string
param eventsQueue string
param runsQueue string
param deploymentContainer string
param deadLetterContainer string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource inbox 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: inboxContainer
  properties: {
    publicAccess: 'None'
  }
}

resource reports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: reportsContainer
  properties: {
    publicAccess: 'None'
  }
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

// Where Event Grid puts a BlobCreated it could not deliver to the blobs webhook (its retries
// spent, or a 400/401/403/413 answer, which it never retries): written by the system topic's
// identity, read by you (README, What happens to a blob that keeps failing).
resource deadLetters 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainer
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource runs 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: runsTable
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Where the Functions host reports an inbox file whose validation kept failing.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'webjobs-blobtrigger-poison'
}

// Run events on their way to webhooks and Event Grid, and those that kept failing.
resource deliveryQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: eventsQueue
}

resource deliveryPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${eventsQueue}-poison'
}

// The due runs a busy timer tick hands to the queue trigger (README, "The timer at scale"), and
// the messages that kept failing there.
resource runsQueueResource 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: runsQueue
}

resource runsPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${runsQueue}-poison'
}

output name string = storage.name
output deploymentContainer string = packages.name
output deadLetterContainer string = deadLetters.name
