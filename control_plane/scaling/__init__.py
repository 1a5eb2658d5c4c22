"""Aurora Serverless v2 capacity: the policy (pure), the job's service, and read models."""
