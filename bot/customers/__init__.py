"""The customer as the service reads them: the facts that scenario conditions, segments and merge fields name,
mapped to the tables that hold them."""
