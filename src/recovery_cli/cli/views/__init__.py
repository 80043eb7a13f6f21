"""What the commands show: the walk screen, the short forms after a call, tables,
charts and notices. Views draw what the core returns and read through the prompter;
they decide nothing and save nothing."""
