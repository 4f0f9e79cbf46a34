// The Flex Consumption plan (FC1) and the Function App: Python 3.11, run as the user-assigned
// identity, which also authenticates the deployment package's storage. Flex Consumption takes the
// runtime from functionAppConfig, so the worker-runtime, run-from-package and Linux-FX-version
// settings are never set (it refuses them; tests/infra/test_app_settings.py checks).
param planName string
param appName string
param location string
param tags object
param instanceMemoryMB int
param identityId string
param identityClientId string
param storageName string
param deploymentContainer string
param appInsightsName string
param openAiEndpoint string
param openAiAccount string
param openAiResourceGroup string
param inboxContainer string
param reportsContainer string
param runsTable string
param runTimerSchedule string
param eventsTimerSchedule string
param eventsQueue string
param runsQueue string
param defaultModel string
param baseDeployment string
param graderDeployment string
param openAiLocation string
@description('The pool\'s other accounts, {name, location} each (main.bicep openAiPool).')
param openAiPool array = []

// AZURE_OPENAI_ACCOUNTS (README, A pool of accounts): the first account, then the pool's, each
// on its own subdomain (openai.bicep sets customSubDomainName to the name). Empty: no pool.
var poolAccounts = [for account in openAiPool: {
  name: account.name
  endpoint: 'https://${account.name}.openai.azure.com/'
  subscription: subscription().subscriptionId
  resource_group: resourceGroup().name
  account: account.name
  region: account.location
}]
var firstAccount = {
  name: openAiAccount
  endpoint: openAiEndpoint
  subscription: subscription().subscriptionId
  resource_group: openAiResourceGroup
  account: openAiAccount
  region: openAiLocation
}
var openAiAccounts = empty(openAiPool) ? '' : string(concat([firstAccount], poolAccounts))

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'function' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Only what Flex Consumption sites accept, as Microsoft's Flex samples set it: ARM refuses
    // other site configuration on Flex sites (error 51021, "...for Flex Consumption sites is
    // invalid"), ftpsState included in newer regions. Flex has no FTP endpoint to disable.
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Every setting the app or its bindings read, and nothing else: tests/infra/test_app_settings.py
// compares these keys with what shared/settings.py and the bindings read. To add a setting: a
// `param` here, passed from main.bicep (a `param` there with a default, and a line in
// main.parameters.json if azd should fill it from `azd env set`), and a key below.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AZURE_CLIENT_ID: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AZURE_OPENAI_ENDPOINT: openAiEndpoint
    AZURE_SUBSCRIPTION_ID: subscription().subscriptionId
    AZURE_RESOURCE_GROUP: openAiResourceGroup
    AZURE_OPENAI_ACCOUNT: openAiAccount
    INBOX_CONTAINER: inboxContainer
    REPORTS_CONTAINER: reportsContainer
    RUNS_TABLE: runsTable
    RUN_TIMER_SCHEDULE: runTimerSchedule
    EVENTS_TIMER_SCHEDULE: eventsTimerSchedule
    EVENTS_QUEUE: eventsQueue
    RUNS_QUEUE: runsQueue
    DEFAULT_MODEL: defaultModel
    BASE_DEPLOYMENT: baseDeployment
    EVAL_GRADER_DEPLOYMENT: graderDeployment
    AZURE_OPENAI_ACCOUNTS: openAiAccounts
  }
}

output name string = app.name
output hostName string = app.properties.defaultHostName
