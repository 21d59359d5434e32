"""Root: network namespaces, service users, real installs, sshd and Ansible."""
