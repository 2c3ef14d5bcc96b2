"""Creates, through the AWS API of a running moto_server, what the aws_iid end-to-end test attests against.

Prints one JSON object: the instance IDs (sev: running SEV-SNP instance with tags, SG and instance profile; plain:
running without SEV-SNP; stopped: SEV-SNP but stopped; throttled: another SEV-SNP instance), the security group ID
and the role ARN. Usage: moto_setup.py ENDPOINT_URL
"""
import json
import sys

import boto3

kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing",
          aws_secret_access_key="testing")
iam = boto3.client("iam", **kw)
ec2 = boto3.client("ec2", **kw)
org = boto3.client("organizations", **kw)

role = iam.create_role(RoleName="spire-node-role", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
iam.create_instance_profile(InstanceProfileName="spire-node-profile")
iam.add_role_to_instance_profile(InstanceProfileName="spire-node-profile", RoleName="spire-node-role")
sg = ec2.create_security_group(GroupName="spire-nodes", Description="SPIRE agents")["GroupId"]
org.create_organization(FeatureSet="ALL")


def launch(sev, tags):
    args = dict(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="m6a.large", SecurityGroupIds=[sg],
                IamInstanceProfile={"Name": "spire-node-profile"},
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    if sev:
        args["CpuOptions"] = {"AmdSevSnp": "enabled"}
    return ec2.run_instances(**args)["Instances"][0]["InstanceId"]


out = {
    "sev": launch(True, {"role": "web", "env": "prod"}),
    "plain": launch(False, {"role": "web"}),
    "stopped": launch(True, {"role": "web"}),
    "throttled": launch(True, {"role": "web"}),
    "sg": sg,
    "role_arn": role["Role"]["Arn"],
}
ec2.stop_instances(InstanceIds=[out["stopped"]])
accounts = [a["Id"] for a in org.list_accounts()["Accounts"] if a["Status"] == "ACTIVE"]
assert "123456789012" in accounts, accounts
print(json.dumps(out))
