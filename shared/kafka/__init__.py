"""A small Kafka layer on aiokafka: topic creation, a safe producer, a committing consumer."""
