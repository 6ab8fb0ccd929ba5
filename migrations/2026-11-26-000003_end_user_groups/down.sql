DROP TABLE end_user_group_members;
DROP TABLE end_user_groups;
