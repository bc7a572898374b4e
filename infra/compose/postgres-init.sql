CREATE DATABASE annals_read;
