// One small stack per Step Functions task construct and option, synthesized with aws-cdk-lib (no AWS account:
// every imported resource is named by a literal ARN, the stack has a fixed account and Region). Writes
// OUTDIR/<scenario>.json: the synthesized template (the state machine and the role policy CDK generates).
// Run: npm ci --prefix scripts/cdk_reference && node scripts/cdk_reference/synth.js tests/cdk_reference/templates
'use strict';
const fs = require('fs');
const path = require('path');
const cdk = require('aws-cdk-lib');
const sfn = require('aws-cdk-lib/aws-stepfunctions');
const tasks = require('aws-cdk-lib/aws-stepfunctions-tasks');
const lambda = require('aws-cdk-lib/aws-lambda');
const sqs = require('aws-cdk-lib/aws-sqs');
const sns = require('aws-cdk-lib/aws-sns');
const ddb = require('aws-cdk-lib/aws-dynamodb');
const events = require('aws-cdk-lib/aws-events');
const bedrock = require('aws-cdk-lib/aws-bedrock');
const codebuild = require('aws-cdk-lib/aws-codebuild');
const iam = require('aws-cdk-lib/aws-iam');
const s3 = require('aws-cdk-lib/aws-s3');
const kms = require('aws-cdk-lib/aws-kms');

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const A = `arn:aws`;

const scenarios = {
  'lambda-invoke': (s) => new tasks.LambdaInvoke(s, 'T', {
    lambdaFunction: lambda.Function.fromFunctionArn(s, 'F', `${A}:lambda:${REGION}:${ACCOUNT}:function:worker`),
  }),
  'lambda-invoke-callback': (s) => new tasks.LambdaInvoke(s, 'T', {
    lambdaFunction: lambda.Function.fromFunctionArn(s, 'F', `${A}:lambda:${REGION}:${ACCOUNT}:function:worker`),
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken }),
  }),
  'sqs-send-message': (s) => new tasks.SqsSendMessage(s, 'T', {
    queue: sqs.Queue.fromQueueArn(s, 'Q', `${A}:sqs:${REGION}:${ACCOUNT}:jobs`),
    messageBody: sfn.TaskInput.fromText('hello'),
  }),
  'sqs-send-message-encrypted': (s) => new tasks.SqsSendMessage(s, 'T', {
    queue: sqs.Queue.fromQueueAttributes(s, 'Q', {
      queueArn: `${A}:sqs:${REGION}:${ACCOUNT}:jobs`,
      keyArn: `${A}:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    }),
    messageBody: sfn.TaskInput.fromText('hello'),
  }),
  'sns-publish': (s) => new tasks.SnsPublish(s, 'T', {
    topic: sns.Topic.fromTopicArn(s, 'Tp', `${A}:sns:${REGION}:${ACCOUNT}:alerts`),
    message: sfn.TaskInput.fromText('hello'),
  }),
  'dynamodb-put-item': (s) => new tasks.DynamoPutItem(s, 'T', {
    table: ddb.Table.fromTableName(s, 'Tb', 'orders'),
    item: { id: tasks.DynamoAttributeValue.fromString('1') },
  }),
  'dynamodb-get-item': (s) => new tasks.DynamoGetItem(s, 'T', {
    table: ddb.Table.fromTableName(s, 'Tb', 'orders'),
    key: { id: tasks.DynamoAttributeValue.fromString('1') },
  }),
  'dynamodb-update-item': (s) => new tasks.DynamoUpdateItem(s, 'T', {
    table: ddb.Table.fromTableName(s, 'Tb', 'orders'),
    key: { id: tasks.DynamoAttributeValue.fromString('1') },
    updateExpression: 'SET a = :a',
    expressionAttributeValues: { ':a': tasks.DynamoAttributeValue.fromString('x') },
  }),
  'dynamodb-delete-item': (s) => new tasks.DynamoDeleteItem(s, 'T', {
    table: ddb.Table.fromTableName(s, 'Tb', 'orders'),
    key: { id: tasks.DynamoAttributeValue.fromString('1') },
  }),
  'stepfunctions-start-execution': (s) => new tasks.StepFunctionsStartExecution(s, 'T', {
    stateMachine: sfn.StateMachine.fromStateMachineArn(s, 'C', `${A}:states:${REGION}:${ACCOUNT}:stateMachine:child`),
  }),
  'stepfunctions-start-execution-sync': (s) => new tasks.StepFunctionsStartExecution(s, 'T', {
    stateMachine: sfn.StateMachine.fromStateMachineArn(s, 'C', `${A}:states:${REGION}:${ACCOUNT}:stateMachine:child`),
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  }),
  'eventbridge-put-events': (s) => new tasks.EventBridgePutEvents(s, 'T', {
    entries: [{
      detail: sfn.TaskInput.fromObject({ a: 1 }), detailType: 'x', source: 'app',
      eventBus: events.EventBus.fromEventBusArn(s, 'B', `${A}:events:${REGION}:${ACCOUNT}:event-bus/orders`),
    }],
  }),
  'athena-start-query-execution': (s) => new tasks.AthenaStartQueryExecution(s, 'T', {
    queryString: 'SELECT * FROM orders', workGroup: 'primary',
    queryExecutionContext: { databaseName: 'sales' },
    resultConfiguration: { outputLocation: { bucketName: 'athena-results', objectKey: 'q' } },
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  }),
  'glue-start-job-run-sync': (s) => new tasks.GlueStartJobRun(s, 'T', {
    glueJobName: 'etl', integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  }),
  'batch-submit-job-sync': (s) => new tasks.BatchSubmitJob(s, 'T', {
    jobName: 'j', jobQueueArn: `${A}:batch:${REGION}:${ACCOUNT}:job-queue/q`,
    jobDefinitionArn: `${A}:batch:${REGION}:${ACCOUNT}:job-definition/d:1`,
  }),
  'bedrock-invoke-model': (s) => new tasks.BedrockInvokeModel(s, 'T', {
    model: bedrock.FoundationModel.fromFoundationModelId(s, 'M',
      new bedrock.FoundationModelIdentifier('amazon.titan-text-express-v1')),
    body: sfn.TaskInput.fromObject({ inputText: 'hi' }),
  }),
  'bedrock-invoke-model-guardrail': (s) => new tasks.BedrockInvokeModel(s, 'T', {
    model: bedrock.FoundationModel.fromFoundationModelId(s, 'M',
      new bedrock.FoundationModelIdentifier('amazon.titan-text-express-v1')),
    body: sfn.TaskInput.fromObject({ inputText: 'hi' }),
    guardrail: tasks.Guardrail.enable('gr1abc', 1),
  }),
  'codebuild-start-build-sync': (s) => new tasks.CodeBuildStartBuild(s, 'T', {
    project: codebuild.Project.fromProjectArn(s, 'P', `${A}:codebuild:${REGION}:${ACCOUNT}:project/build`),
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  }),
  'emr-create-cluster-tags-sync': (s) => new tasks.EmrCreateCluster(s, 'T', {
    name: 'c', instances: {},
    clusterRole: iam.Role.fromRoleArn(s, 'CR', `${A}:iam::${ACCOUNT}:role/EMR_EC2_DefaultRole`),
    serviceRole: iam.Role.fromRoleArn(s, 'SR', `${A}:iam::${ACCOUNT}:role/EMR_DefaultRole`),
    autoScalingRole: iam.Role.fromRoleArn(s, 'AR', `${A}:iam::${ACCOUNT}:role/EMR_AutoScaling_DefaultRole`),
    tags: { owner: 'etl' },
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
  }),
  'emr-terminate-cluster': (s) => new tasks.EmrTerminateCluster(s, 'T', { clusterId: 'j-ABC123' }),
  'emr-add-step-sync': (s) => new tasks.EmrAddStep(s, 'T', {
    clusterId: 'j-ABC123', name: 's', jar: 'command-runner.jar', args: ['echo'],
    actionOnFailure: tasks.ActionOnFailure.CONTINUE,
  }),
  'http-invoke': (s) => new tasks.HttpInvoke(s, 'T', {
    apiRoot: 'https://api.example.com', apiEndpoint: sfn.TaskInput.fromText('orders'), method: sfn.TaskInput.fromText('GET'),
    connection: events.Connection.fromConnectionAttributes(s, 'Cn', {
      connectionArn: `${A}:events:${REGION}:${ACCOUNT}:connection/api/0a1b2c3d-4e5f`,
      connectionName: 'api', connectionSecretArn: `${A}:secretsmanager:${REGION}:${ACCOUNT}:secret:events!connection/api/abc-AbCdEf`,
    }),
  }),
  'call-aws-service-s3-get-object': (s) => new tasks.CallAwsService(s, 'T', {
    service: 's3', action: 'getObject', parameters: { Bucket: 'data', Key: 'in/a.json' },
    iamResources: [`${A}:s3:::data/in/a.json`],
  }),
  'distributed-map-s3-objects': (s) => {
    const map = new sfn.DistributedMap(s, 'T', {
      itemReader: new sfn.S3ObjectsItemReader({ bucket: s3.Bucket.fromBucketName(s, 'Bk', 'data'), prefix: 'in/' }),
    });
    map.itemProcessor(new sfn.Pass(s, 'P'));
    return map;
  },
};

function synth(outdir) {
  fs.mkdirSync(outdir, { recursive: true });
  for (const [name, build] of Object.entries(scenarios)) {
    const app = new cdk.App();
    const stack = new cdk.Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const task = build(stack);
    new sfn.StateMachine(stack, 'Machine', {
      stateMachineName: 'Machine', definitionBody: sfn.DefinitionBody.fromChainable(task),
    });
    const template = app.synth().getStackByName('S').template;
    fs.writeFileSync(path.join(outdir, `${name}.json`), JSON.stringify(template, null, 1) + '\n');
  }
}

synth(process.argv[2] || 'tests/cdk_reference/templates');
