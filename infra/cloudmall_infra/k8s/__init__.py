"""The services topology's Kubernetes manifests (cdk8s, Python), synthesized into deploy/k8s/.

The MicroservicesShop stack (stacks/microservices_shop.py) builds the cluster and what the
services use on AWS; these manifests run the four services on it. Both read the facts they share
(namespace, service accounts, secret names, subnet ranges) from :mod:`contract`.
"""
