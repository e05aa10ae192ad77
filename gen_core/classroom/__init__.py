"""The classroom server side: run registry, owners, scheduler, budgets, executors, links."""
