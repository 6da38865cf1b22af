"""`cloudmall audit`: the guide's 보안 체크리스트 against synthesized CloudFormation templates.

One module per concern of the checklist (network, access, data, monitoring), the checklist itself as
data (:mod:`cloudmall.audit.rules`), an engine that applies it to every stack of a set
(:mod:`cloudmall.audit.engine`) and the renderers. Reads templates only; calls no AWS API.
"""
